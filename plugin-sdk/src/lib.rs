mod _check_source { wit_bindgen::generate!({ world: "source", path: "../wit" }); }
mod _check_sink { wit_bindgen::generate!({ world: "sink", path: "../wit" }); }
mod _check_transform { wit_bindgen::generate!({ world: "transform", path: "../wit" }); }
mod _check_predicate { wit_bindgen::generate!({ world: "predicate", path: "../wit" }); }
