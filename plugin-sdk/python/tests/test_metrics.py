"""Unit tests of ``sluice.metrics`` without a host: the host's rules are checked and the values
kept, so plugin code that counts is testable in plain CPython."""

import unittest

from sluice import MetricError, metrics


class FakeHost:
    """Records the calls the SDK makes into the host's `metrics` import; refuses `bad`."""

    def __init__(self):
        self.calls = []

    def counter_add(self, name, delta):
        if name == "bad":
            raise RuntimeError("refused by the host")
        self.calls.append(("counter_add", name, delta))

    def gauge_set(self, name, value):
        self.calls.append(("gauge_set", name, value))


class MetricsTest(unittest.TestCase):
    def setUp(self):
        metrics.values.clear()

    def test_counters_add_and_gauges_set(self):
        metrics.counter_add("rows_masked")
        metrics.counter_add("rows_masked", 4)
        metrics.gauge_set("cache_entries", 2.5)
        self.assertEqual(metrics.values, {"rows_masked": 5, "cache_entries": 2.5})

    def test_bad_names_and_kinds_are_refused_with_the_hosts_message(self):
        with self.assertRaisesRegex(MetricError, r'^invalid metric name "Rows": use 1 to 64 characters a-z, 0-9 and _, starting with a letter$'):
            metrics.counter_add("Rows")
        metrics.counter_add("rows")
        with self.assertRaisesRegex(MetricError, r'^metric "rows" is a counter, not a gauge$'):
            metrics.gauge_set("rows", 1.0)

    def test_a_task_may_define_64_names_as_on_the_host(self):
        for i in range(64):
            metrics.counter_add(f"m{i}")
        metrics.counter_add("m0")  # an existing name is no new one
        with self.assertRaisesRegex(MetricError, r'^this task already defines 64 metrics, the most it may; "m64" is one too many$'):
            metrics.gauge_set("m64", 1.0)
        self.assertEqual(len(metrics.values), 64)


class BatchedMetricsTest(unittest.TestCase):
    """Inside a batch call, updates of a name the host accepted are added up and sent once."""

    def setUp(self):
        self.host = FakeHost()
        self.saved = (metrics._host, metrics._accepted, metrics._pending)
        metrics._host, metrics._accepted, metrics._pending = self.host, {}, {}

    def tearDown(self):
        metrics._end_batch()
        metrics._host, metrics._accepted, metrics._pending = self.saved

    def test_one_host_call_per_name_and_batch(self):
        metrics._begin_batch()
        for _ in range(500):
            metrics.counter_add("records_kept")
            metrics.gauge_set("last_seen", 1.0)
        metrics.gauge_set("last_seen", 7.0)
        metrics._end_batch()
        self.assertEqual(self.host.calls, [
            ("counter_add", "records_kept", 1), ("gauge_set", "last_seen", 1.0),
            ("counter_add", "records_kept", 499), ("gauge_set", "last_seen", 7.0)])
        self.host.calls.clear()
        metrics._begin_batch()
        metrics.counter_add("records_kept", 3)
        metrics.counter_add("records_kept", 2)
        metrics._end_batch()
        self.assertEqual(self.host.calls, [("counter_add", "records_kept", 5)])

    def test_a_refused_name_raises_at_the_call(self):
        metrics._begin_batch()
        with self.assertRaisesRegex(MetricError, "refused by the host"):
            metrics.counter_add("bad")
        with self.assertRaisesRegex(MetricError, "refused by the host"):
            metrics.counter_add("bad")  # never accepted, so never added up silently

    def test_outside_a_batch_call_every_update_goes_to_the_host(self):
        metrics.counter_add("started")
        metrics.counter_add("started")
        self.assertEqual(self.host.calls, [("counter_add", "started", 1)] * 2)


if __name__ == "__main__":
    unittest.main()
