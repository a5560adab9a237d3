"""Unit tests of the predicate export, run against the bindings componentize-py generates for
the `predicate` world (``cargo xtask test`` generates them; by hand::

    componentize-py --wit-path wit --world predicate bindings /tmp/predicate-bindings
    PYTHONPATH=plugin-sdk/python:/tmp/predicate-bindings python3 -m unittest discover plugin-sdk/python/tests
"""

import unittest

from componentize_py_types import Err, Ok
from wit_world.exports.plugin import PluginKind
from wit_world.imports import types as wit

import predicates
from sluice import PluginSpec, Predicate, Record, export_predicate
from sluice import _wire


class HasName(Predicate):
    """Holds when the value is a dict with the configured field."""

    @classmethod
    def spec(cls):
        return PluginSpec("has-name", "0.1.0")

    def __init__(self, class_name, config):
        self.field = config.get("field") or "name"
        if self.field == "!":
            raise ValueError("field must be a name")

    def test(self, record):
        if record.value == "boom":
            raise ValueError("cannot test boom")
        if record.value == "odd":
            return "yes"
        return isinstance(record.value, dict) and self.field in record.value


Plugin, Predicates = export_predicate(HasName)


def answers(results):
    """Ok/Err results as comparable pairs."""
    return [("ok", r.value) if isinstance(r, Ok) else ("err", r.value) for r in results]


class PredicateExportTest(unittest.TestCase):
    def test_the_spec_says_predicate(self):
        self.assertEqual(Plugin().spec().kind, PluginKind.PREDICATE)
        self.assertEqual(Plugin().spec().name, "has-name")

    def test_answers_per_record_failing_only_the_records_it_cannot_test(self):
        tester = predicates.Tester.create("has-name", [])
        lowerer = _wire.Lowerer()
        values = [{"name": "ada"}, {"id": 1}, "boom", "odd"]
        batch = wit.Batch(lowerer.schemas, [lowerer.record(Record("t", value=v)) for v in values])
        self.assertEqual(answers(tester.test(batch)), [
            ("ok", True),
            ("ok", False),
            ("err", "ValueError: cannot test boom"),
            ("err", "plugin bug: test() returned 'yes'; return True or False"),
        ])

    def test_a_refused_config_is_an_error_for_the_host(self):
        with self.assertRaises(Err) as refused:
            predicates.Tester.create("has-name", [("field", "!")])
        self.assertEqual(refused.exception.value, "field must be a name")


if __name__ == "__main__":
    unittest.main()
