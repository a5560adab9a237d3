import os
import tempfile
import unittest

from sluice import Config, Record

from app import {{class_name}} as Plugin


class PluginTest(unittest.TestCase):
    def test_writes_strings_and_fails_other_values(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "out.txt")
            sink = Plugin(Config([("file", path)]))
            failures = sink.put([Record("t", value="hello"), Record("t", value=1)])
            sink.flush([])
            sink.stop()
            self.assertEqual([f.index for f in failures], [1])
            with open(path, encoding="utf-8") as f:
                self.assertEqual(f.read(), "hello\n")


if __name__ == "__main__":
    unittest.main()
