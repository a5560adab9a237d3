"""http-lookup in Python: replaces each string value with what a web service answers for it,
using the SDK's blocking HTTP client ``sluice.http`` (over wasi:http, so the worker's sandbox
decides what the plugin may reach: the connector's wasm.network.allow).

For a record whose value is the string ``v``, the transform sends ``GET <lookup.url><v>``
(``v`` percent-encoded) and keeps the record with the response text as its value. A 404 fails
the record ("no entry"), any other non-2xx status or a refused/failed request fails it with
the reason (dead letter queue with errors.tolerance=all); tombstones pass unchanged. The same
transform is in examples/js-http-lookup (with fetch).

Built for the ``transform-http`` world (``transform`` plus wasi:http), which gives
componentize-py the wasi:http bindings ``sluice.http`` uses.
"""

from urllib.parse import quote

from sluice import ConfigDef, ConfigProblem, Outcome, PluginSpec, Transform, export_transform, http, log


class HttpLookup(Transform):
    @classmethod
    def spec(cls):
        return (PluginSpec("example.python.HttpLookup", "0.1.0")
                .alias("python-http-lookup")
                .describe("Replaces each string value with the text a web service answers for it (GET lookup.url + value).")
                .option(ConfigDef.string("lookup.url").required()
                        .doc("URL prefix; the value is appended, percent-encoded. Grant its host:port in wasm.network.allow.")))

    @classmethod
    def validate(cls, config):
        url = config.get("lookup.url") or ""
        if not url.lower().startswith(("http://", "https://")):
            return [ConfigProblem("lookup.url", f"'{url}' is not an http:// or https:// URL")]
        return []

    def __init__(self, class_name, config):
        problems = self.validate(config)
        if problems:
            raise ValueError(f"config `{problems[0].key}`: {problems[0].message}")
        self.url = config.get("lookup.url")
        log.info(f"http-lookup (python): looking values up at {self.url}")

    def apply(self, record):
        if record.value is None:
            return Outcome.keep(record)
        if not isinstance(record.value, str):
            return Outcome.fail(f"http-lookup: the value is not a string ({type(record.value).__name__})")
        url = self.url + quote(record.value, safe="")
        try:
            response = http.get(url, timeout=10)
        except http.HttpError as e:
            return Outcome.fail(f"http-lookup: GET {url} failed: {e}")
        if response.status == 404:
            return Outcome.fail(f"http-lookup: no entry for '{record.value}'")
        if response.status >= 300:
            return Outcome.fail(f"http-lookup: GET {url} answered HTTP {response.status}: {response.text()[:200]}")
        record.value = response.text()
        return Outcome.keep(record)


Plugin, Transforms = export_transform(HttpLookup)
