"""Unit tests of ``sluice.metrics`` without a host: the host's rules are checked and the values
kept, so plugin code that counts is testable in plain CPython."""

import unittest

from sluice import MetricError, metrics


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


if __name__ == "__main__":
    unittest.main()
