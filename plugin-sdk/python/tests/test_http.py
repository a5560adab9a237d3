"""Unit tests of ``sluice.http`` that need no component: URL splitting, refused headers, and
the error when the component's world has no wasi:http bindings (the predicate bindings the
test run generates have none)."""

import unittest

from sluice import http


class HttpHelperTest(unittest.TestCase):
    def test_urls_split_into_scheme_authority_and_origin_form_path(self):
        self.assertEqual(http._split_url("HTTPS://api.example.com:8443/v1/x?a=1#frag"),
                         (True, "api.example.com:8443", "/v1/x?a=1"))
        self.assertEqual(http._split_url("http://h"), (False, "h", "/"))
        self.assertEqual(http._split_url("http://h?q=1"), (False, "h", "/?q=1"))
        with self.assertRaises(http.InvalidRequest):
            http._split_url("ftp://h/")
        with self.assertRaises(http.InvalidRequest):
            http._split_url("http:///x")

    def test_host_owned_headers_are_refused(self):
        with self.assertRaisesRegex(http.InvalidRequest, "Host"):
            http._header_list({"Host": "elsewhere"})
        self.assertEqual(http._header_list([("X-A", "1")]), [("x-a", b"1")])

    def test_a_world_without_wasi_http_says_which_world_to_build_for(self):
        with self.assertRaisesRegex(http.HttpError, "transform-http"):
            http.get("http://127.0.0.1:1/")


if __name__ == "__main__":
    unittest.main()
