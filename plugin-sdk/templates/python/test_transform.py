import unittest

from sluice import Config, Fail, Keep, Record

from app import {{class_name}} as Plugin


class PluginTest(unittest.TestCase):
    def test_upper_cases_the_field_and_fails_non_strings(self):
        t = Plugin("{{plugin_name}}", Config([("field", "name")]))
        out = t.apply(Record("t", value={"name": "ada"}))
        self.assertIsInstance(out, Keep)
        self.assertEqual(out.record.value, {"name": "ADA"})
        self.assertIsInstance(t.apply(Record("t", value={"name": 1})), Fail)


if __name__ == "__main__":
    unittest.main()
