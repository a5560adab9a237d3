import unittest

from sluice import Config, SourcePosition

from app import {{class_name}} as Plugin


class PluginTest(unittest.TestCase):
    def test_writes_count_messages_then_resumes(self):
        config = Config([("topic", "t")], Plugin.spec().config)
        source = Plugin(config, [])
        self.assertEqual(len(source.poll(100)), 10)
        self.assertEqual(source.poll(100), [])
        resumed = Plugin(config, [SourcePosition({"source": "{{name}}"}, {"n": 7})])
        self.assertEqual(resumed.poll(100)[0].record.value, "message 8")


if __name__ == "__main__":
    unittest.main()
