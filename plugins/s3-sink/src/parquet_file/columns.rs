//! Record shredding: a Connect value becomes values and definition/repetition levels of the
//! Parquet columns (Dremel's algorithm), walking the [`Node`] tree next to the Connect schema
//! (which knows the defaults: a null where the schema has a default is the default, as in
//! `AvroData.fromConnectData`).

use parquet::basic::{Repetition, Type as Physical};
use parquet::data_type::ByteArray;
use sluice_plugin_sdk::{Schema, Value};

use super::schema::{Leaf, Node, Shape};

/// The buffered values of one column.
#[derive(Debug)]
pub enum Values {
    Bool(Vec<bool>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    Bytes(Vec<ByteArray>),
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Values::Bool(v) => v.len(),
            Values::I32(v) => v.len(),
            Values::I64(v) => v.len(),
            Values::F32(v) => v.len(),
            Values::F64(v) => v.len(),
            Values::Bytes(v) => v.len(),
        }
    }

    fn truncate(&mut self, n: usize) {
        match self {
            Values::Bool(v) => v.truncate(n),
            Values::I32(v) => v.truncate(n),
            Values::I64(v) => v.truncate(n),
            Values::F32(v) => v.truncate(n),
            Values::F64(v) => v.truncate(n),
            Values::Bytes(v) => v.truncate(n),
        }
    }
}

/// One column's buffered row-group data.
#[derive(Debug)]
pub struct Column {
    pub leaf: Leaf,
    pub values: Values,
    pub def: Vec<i16>,
    pub rep: Vec<i16>,
}

impl Column {
    pub fn new(leaf: Leaf) -> Column {
        let values = match leaf.physical {
            Physical::BOOLEAN => Values::Bool(Vec::new()),
            Physical::INT32 => Values::I32(Vec::new()),
            Physical::INT64 => Values::I64(Vec::new()),
            Physical::FLOAT => Values::F32(Vec::new()),
            Physical::DOUBLE => Values::F64(Vec::new()),
            _ => Values::Bytes(Vec::new()),
        };
        Column {
            leaf,
            values,
            def: Vec::new(),
            rep: Vec::new(),
        }
    }

    fn mark(&self) -> (usize, usize) {
        (self.def.len(), self.values.len())
    }

    fn rewind(&mut self, (levels, values): (usize, usize)) {
        self.def.truncate(levels);
        self.rep.truncate(levels);
        self.values.truncate(values);
    }

    pub fn clear(&mut self) {
        self.rewind((0, 0));
    }

    fn levels(&mut self, def: i16, rep: i16) {
        self.def.push(def);
        self.rep.push(rep);
    }

    /// Appends a value; returns the bytes it takes (an estimate of the buffered size).
    fn push(&mut self, value: &Value, def: i16, rep: i16) -> Result<usize, String> {
        let size = match (&mut self.values, value) {
            (Values::Bool(v), Value::Boolean(b)) => {
                v.push(*b);
                1
            }
            (Values::I32(v), Value::Int8(i)) => {
                v.push(i32::from(*i));
                4
            }
            (Values::I32(v), Value::Int16(i)) => {
                v.push(i32::from(*i));
                4
            }
            (Values::I32(v), Value::Int32(i)) => {
                v.push(*i);
                4
            }
            (Values::I64(v), Value::Int64(i)) => {
                v.push(*i);
                8
            }
            (Values::F32(v), Value::Float32(f)) => {
                v.push(*f);
                4
            }
            (Values::F64(v), Value::Float64(f)) => {
                v.push(*f);
                8
            }
            (Values::Bytes(v), Value::String(s)) => {
                v.push(ByteArray::from(s.as_bytes().to_vec()));
                s.len() + 4
            }
            (Values::Bytes(v), Value::Bytes(b)) => {
                v.push(ByteArray::from(b.clone()));
                b.len() + 4
            }
            (_, other) => {
                return Err(format!(
                    "column {}: a {} value where the column holds {:?}",
                    self.leaf.path,
                    other.java_class_name(None),
                    self.leaf.physical
                ))
            }
        };
        self.levels(def, rep);
        Ok(size + 4)
    }
}

/// What a node takes: a value with its schema, or a map entry (a `key_value` or `MapEntry`
/// record).
#[derive(Clone, Copy)]
enum Item<'a> {
    One(&'a Schema, &'a Value),
    Entry([(&'a Schema, &'a Value); 2]),
}

/// Shreds one record (a Struct of `schema`) into `columns`; returns the bytes buffered. On
/// error the columns are left as they were.
pub fn shred_record(
    fields: &[Node],
    columns: &mut [Column],
    schema: &Schema,
    value: &Value,
) -> Result<usize, String> {
    let marks: Vec<_> = columns.iter().map(Column::mark).collect();
    let mut s = Shredder { columns, bytes: 0 };
    let result = match value {
        Value::Struct(st) => fields
            .iter()
            .zip(schema.fields.iter().zip(st.values()))
            .try_for_each(|(node, (f, v))| s.node(node, Item::One(&f.schema, v), 0, 0, 0)),
        _ => Err("a Parquet record must be a Struct".into()),
    };
    let bytes = s.bytes;
    if result.is_err() {
        for (c, m) in columns.iter_mut().zip(marks) {
            c.rewind(m);
        }
    }
    result.map(|()| bytes)
}

struct Shredder<'c> {
    columns: &'c mut [Column],
    bytes: usize,
}

impl Shredder<'_> {
    /// `def`: the definition level of the parent; `rep`: the repetition level of this item's
    /// first value; `depth`: the parent's repetition depth.
    fn node(
        &mut self,
        node: &Node,
        item: Item,
        def: i16,
        rep: i16,
        depth: i16,
    ) -> Result<(), String> {
        if let Shape::Element(child) = &node.shape {
            // The repeated `list` group: present for every element, null or not.
            return self.node(child, item, def + 1, rep, depth + 1);
        }
        let item = match item {
            Item::One(schema, Value::Null) => match &schema.default {
                Some(d) if !d.is_null() => Item::One(schema, d),
                _ => item,
            },
            other => other,
        };
        if let Item::One(schema, Value::Null) = item {
            if node.repetition == Repetition::OPTIONAL {
                self.nulls(node, def, rep);
                return Ok(());
            }
            return Err(format!(
                "null value for a required {:?} schema{}",
                schema.ty,
                schema
                    .name
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            ));
        }
        let def = def + i16::from(node.repetition != Repetition::REQUIRED);
        let depth = depth + i16::from(node.repetition == Repetition::REPEATED);
        match (&node.shape, item) {
            (Shape::Leaf(i), Item::One(_, v)) => {
                self.bytes += self.columns[*i].push(v, def, rep)?;
                Ok(())
            }
            (Shape::Record(children), Item::One(schema, Value::Struct(st))) => children
                .iter()
                .zip(schema.fields.iter().zip(st.values()))
                .try_for_each(|(c, (f, v))| self.node(c, Item::One(&f.schema, v), def, rep, depth)),
            (Shape::Record(children), Item::Entry(kv)) => children
                .iter()
                .zip(kv)
                .try_for_each(|(c, (s, v))| self.node(c, Item::One(s, v), def, rep, depth)),
            (Shape::List(child) | Shape::Map(child), Item::One(schema, value)) => {
                let items = items(schema, value)?;
                if items.is_empty() {
                    self.nulls(child, def, rep);
                    return Ok(());
                }
                for (i, it) in items.into_iter().enumerate() {
                    let r = if i == 0 { rep } else { depth + 1 };
                    self.node(child, it, def, r, depth)?;
                }
                Ok(())
            }
            (_, _) => Err("the value does not have the shape of its schema".into()),
        }
    }

    /// A null (or an empty list) at `node`: every column below gets levels only.
    fn nulls(&mut self, node: &Node, def: i16, rep: i16) {
        match &node.shape {
            Shape::Leaf(i) => self.columns[*i].levels(def, rep),
            Shape::Record(children) => children.iter().for_each(|c| self.nulls(c, def, rep)),
            Shape::List(c) | Shape::Map(c) | Shape::Element(c) => self.nulls(c, def, rep),
        }
    }
}

/// The elements of an array, or the entries of a map, with their schemas.
fn items<'a>(schema: &'a Schema, value: &'a Value) -> Result<Vec<Item<'a>>, String> {
    match value {
        Value::Array(values) => {
            let s = schema
                .items
                .as_deref()
                .ok_or("an ARRAY schema has no element schema")?;
            Ok(values.iter().map(|v| Item::One(s, v)).collect())
        }
        Value::Map(entries) => {
            let (Some(ks), Some(vs)) = (schema.keys.as_deref(), schema.values.as_deref()) else {
                return Err("a MAP schema has no key or value schema".into());
            };
            Ok(entries
                .iter()
                .map(|(k, v)| Item::Entry([(ks, k), (vs, v)]))
                .collect())
        }
        _ => Err("an array or map value was expected".into()),
    }
}
