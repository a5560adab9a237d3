// Captures byte-exact JsonConverter fixtures from the reference Kafka Connect 3.9.0 jars.
// Run through capture.sh (it compiles this file against $REF_HOME/classpath.txt).
//
// Output (into the directory given as args[0]):
//   write-cases.jsonl  one typed Connect record per line, serialized by Kafka's JsonConverter
//                      under several configurations, plus Kafka's own read-then-write round trips.
//   read-cases.jsonl   raw input bytes, what Kafka reads from them (re-encoded with an envelope
//                      so the inferred schema is visible) or the DataException message.
// Every byte string is stored as a JSON string (the bytes are UTF-8) or null for a Kafka null.
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.connect.data.Date;
import org.apache.kafka.connect.data.Decimal;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaAndValue;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.data.Time;
import org.apache.kafka.connect.data.Timestamp;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.json.JsonConverter;

import java.io.*;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public class JsonConverterFixtures {
    static final ObjectMapper MAPPER = new ObjectMapper();

    static JsonConverter conv(boolean schemas, String decimalFormat, boolean replaceNull) {
        JsonConverter c = new JsonConverter();
        Map<String, Object> p = new HashMap<>();
        p.put("schemas.enable", Boolean.toString(schemas));
        p.put("decimal.format", decimalFormat);
        p.put("replace.null.with.default", Boolean.toString(replaceNull));
        c.configure(p, false);
        return c;
    }

    static final JsonConverter ENV = conv(true, "BASE64", true);
    static final JsonConverter PLAIN = conv(false, "BASE64", true);
    static final JsonConverter ENV_NUM = conv(true, "NUMERIC", true);
    static final JsonConverter PLAIN_NUM = conv(false, "NUMERIC", true);
    static final JsonConverter ENV_NOREPL = conv(true, "BASE64", false);
    static final JsonConverter PLAIN_NOREPL = conv(false, "BASE64", false);

    static String str(byte[] b) { return b == null ? null : new String(b, StandardCharsets.UTF_8); }

    /** Runs one write; a DataException becomes {"error": message}. */
    static void put(ObjectNode o, String key, JsonConverter c, Schema s, Object v) {
        try {
            o.put(key, str(c.fromConnectData("t", s, v)));
        } catch (DataException e) {
            o.putObject(key).put("error", e.getMessage());
        }
    }

    static final String[] CONFIG_NAMES = {"schemas_true", "schemas_false", "numeric_true", "numeric_false", "no_replace_true", "no_replace_false"};
    static final JsonConverter[] CONFIGS = {ENV, PLAIN, ENV_NUM, PLAIN_NUM, ENV_NOREPL, PLAIN_NOREPL};

    static final List<String> WRITE = new ArrayList<>();
    static final List<String> READ = new ArrayList<>();

    /**
     * One write case. For each configuration C:
     *   direct[C]        = C.fromConnectData(schema, value)
     *   roundtrip[C]     = C.fromConnectData(C.toConnectData(direct[C]))   (Kafka's reads use HashMap: map order may change)
     *   from_envelope[C] = C.fromConnectData(ENV.toConnectData(direct[schemas_true]))
     */
    static void w(String name, Schema s, Object v) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("name", name);
        ObjectNode direct = o.putObject("direct");
        ObjectNode roundtrip = o.putObject("roundtrip");
        ObjectNode fromEnv = o.putObject("from_envelope");
        SchemaAndValue envRead = null;
        String envReadError = null;
        for (int i = 0; i < CONFIGS.length; i++) {
            JsonConverter c = CONFIGS[i];
            String key = CONFIG_NAMES[i];
            put(direct, key, c, s, v);
            if (direct.get(key).isTextual()) {
                try {
                    SchemaAndValue sv = c.toConnectData("t", direct.get(key).textValue().getBytes(StandardCharsets.UTF_8));
                    put(roundtrip, key, c, sv.schema(), sv.value());
                } catch (DataException e) {
                    roundtrip.putObject(key).put("read_error", e.getMessage());
                }
            }
            if (i == 0 && direct.get(key).isTextual()) {
                try {
                    envRead = ENV.toConnectData("t", direct.get(key).textValue().getBytes(StandardCharsets.UTF_8));
                } catch (DataException e) {
                    envReadError = e.getMessage();
                }
            }
        }
        if (envRead != null) {
            for (int i = 0; i < CONFIGS.length; i++) put(fromEnv, CONFIG_NAMES[i], CONFIGS[i], envRead.schema(), envRead.value());
        } else if (envReadError != null) {
            fromEnv.put("read_error", envReadError);
        }
        try { WRITE.add(MAPPER.writeValueAsString(o)); } catch (IOException e) { throw new UncheckedIOException(e); }
    }

    /** A read case: input bytes read with schemas.enable=schemas, re-encoded with an envelope. */
    static void r(String name, boolean schemas, String input) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("name", name);
        o.put("schemas_enable", schemas);
        o.put("input", input);
        JsonConverter reader = schemas ? ENV : PLAIN;
        try {
            SchemaAndValue sv = reader.toConnectData("t", input == null ? null : input.getBytes(StandardCharsets.UTF_8));
            o.put("reencoded_true", str(ENV.fromConnectData("t", sv.schema(), sv.value())));
            o.put("reencoded_false", str(PLAIN.fromConnectData("t", sv.schema(), sv.value())));
        } catch (DataException e) {
            o.put("error", e.getMessage());
        }
        try { READ.add(MAPPER.writeValueAsString(o)); } catch (IOException e) { throw new UncheckedIOException(e); }
    }

    static BigDecimal dec(String unscaled, int scale) { return new BigDecimal(new BigInteger(unscaled), scale); }

    static <K, V> Map<K, V> map(Object... kv) {
        Map<K, V> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            @SuppressWarnings("unchecked") K k = (K) kv[i];
            @SuppressWarnings("unchecked") V v = (V) kv[i + 1];
            m.put(k, v);
        }
        return m;
    }

    public static void main(String[] args) throws Exception {
        Path out = Paths.get(args[0]);

        // ---- primitives ----
        for (byte b : new byte[]{0, 1, -1, Byte.MIN_VALUE, Byte.MAX_VALUE}) w("int8_" + b, Schema.INT8_SCHEMA, b);
        for (short s : new short[]{0, -300, Short.MIN_VALUE, Short.MAX_VALUE}) w("int16_" + s, Schema.INT16_SCHEMA, s);
        for (int i : new int[]{0, 42, -42, Integer.MIN_VALUE, Integer.MAX_VALUE}) w("int32_" + i, Schema.INT32_SCHEMA, i);
        for (long l : new long[]{0L, 1700000000000L, -1L, Long.MIN_VALUE, Long.MAX_VALUE, 9007199254740993L}) w("int64_" + l, Schema.INT64_SCHEMA, l);
        float[] floats = {0f, -0f, 1f, -1.5f, 0.1f, 100f, 0.001f, 0.0001f, 1e-5f, 1234567f, 1e7f, 12345678f, 1e10f, 3.4028235e38f,
                Float.MIN_VALUE, Float.MIN_NORMAL, 1f / 3f, 16777216f, 2.5e-3f, 9.999999e-4f, 1.0E-45f};
        for (int i = 0; i < floats.length; i++) w("float32_" + i + "_" + floats[i], Schema.FLOAT32_SCHEMA, floats[i]);
        w("float32_nan", Schema.FLOAT32_SCHEMA, Float.NaN);
        w("float32_inf", Schema.FLOAT32_SCHEMA, Float.POSITIVE_INFINITY);
        double[] doubles = {0d, -0d, 1d, -1.5d, 0.1d, 0.2d + 0.1d, 100d, 0.001d, 0.0001d, 1e-5d, 9999999d, 1e7d, 12345678.9d, 1e10d,
                1e21d, 1e22d, 1e23d, 2e23d, Double.MAX_VALUE, Double.MIN_VALUE, Double.MIN_NORMAL, 1d / 3d, 123456789.123d,
                -2.5e-3d, 9007199254740993d, 4.35d, 5e-324d, 1.7976931348623157e308d, 8.41e21d, 2.82879384806159e17d,
                1.9400994884341945e25d, 5.0e-7d, 1.0e-3d, 9.999999999999999e-4d};
        for (int i = 0; i < doubles.length; i++) w("float64_" + i + "_" + doubles[i], Schema.FLOAT64_SCHEMA, doubles[i]);
        w("float64_nan", Schema.FLOAT64_SCHEMA, Double.NaN);
        w("float64_inf", Schema.FLOAT64_SCHEMA, Double.POSITIVE_INFINITY);
        w("float64_neg_inf", Schema.FLOAT64_SCHEMA, Double.NEGATIVE_INFINITY);
        w("bool_true", Schema.BOOLEAN_SCHEMA, true);
        w("bool_false", Schema.BOOLEAN_SCHEMA, false);
        w("string_empty", Schema.STRING_SCHEMA, "");
        w("string_ascii", Schema.STRING_SCHEMA, "hello world");
        w("string_unicode", Schema.STRING_SCHEMA, "h\u00e9llo w\u00f6rld \u65e5\u672c \ud83c\udf89 \u00ff\u0100");
        w("string_escapes", Schema.STRING_SCHEMA, "quote\" backslash\\ slash/ nl\n cr\r tab\t bs\b ff\f");
        StringBuilder ctl = new StringBuilder();
        for (char c = 0; c < 0x20; c++) ctl.append(c);
        ctl.append('\u007f').append('\u0080').append('\u2028').append('\u2029').append('\ufeff').append('<').append('>').append('&').append('\'');
        w("string_control_chars", Schema.STRING_SCHEMA, ctl.toString());
        w("bytes_empty", Schema.BYTES_SCHEMA, new byte[0]);
        w("bytes_hello", Schema.BYTES_SCHEMA, "hello".getBytes(StandardCharsets.UTF_8));
        byte[] all = new byte[256];
        for (int i = 0; i < 256; i++) all[i] = (byte) i;
        w("bytes_all", Schema.BYTES_SCHEMA, all);
        w("bytes_1", Schema.BYTES_SCHEMA, new byte[]{(byte) 0xfb});
        w("bytes_2", Schema.BYTES_SCHEMA, new byte[]{(byte) 0xfb, (byte) 0xff});

        // ---- optional / null / defaults at top level ----
        w("optional_int32_null", Schema.OPTIONAL_INT32_SCHEMA, null);
        w("optional_string_null", Schema.OPTIONAL_STRING_SCHEMA, null);
        w("optional_string_value", Schema.OPTIONAL_STRING_SCHEMA, "x");
        w("required_int32_null", Schema.INT32_SCHEMA, null);
        w("int32_default_null", SchemaBuilder.int32().defaultValue(7).build(), null);
        w("int32_default_value", SchemaBuilder.int32().defaultValue(7).build(), 8);
        w("optional_int32_default_null", SchemaBuilder.int32().optional().defaultValue(7).build(), null);
        w("string_default_doc_name", SchemaBuilder.string().name("com.example.Name").version(2).doc("a \"doc\"").parameter("p1", "v1").parameter("a", "b").defaultValue("dflt").build(), "value");
        w("tombstone", null, null);

        // ---- structs ----
        Schema inner = SchemaBuilder.struct().name("com.example.Inner").field("x", Schema.INT32_SCHEMA).field("y", Schema.OPTIONAL_STRING_SCHEMA).build();
        Schema all_types = SchemaBuilder.struct().name("com.example.AllTypes").version(3).doc("every type")
                .field("i8", Schema.INT8_SCHEMA).field("i16", Schema.INT16_SCHEMA).field("i32", Schema.INT32_SCHEMA)
                .field("i64", Schema.INT64_SCHEMA).field("f32", Schema.FLOAT32_SCHEMA).field("f64", Schema.FLOAT64_SCHEMA)
                .field("bool", Schema.BOOLEAN_SCHEMA).field("str", Schema.STRING_SCHEMA).field("bytes", Schema.BYTES_SCHEMA)
                .field("opt_i32", Schema.OPTIONAL_INT32_SCHEMA).field("opt_str", Schema.OPTIONAL_STRING_SCHEMA)
                .field("arr", SchemaBuilder.array(Schema.STRING_SCHEMA).build())
                .field("opt_arr", SchemaBuilder.array(Schema.INT64_SCHEMA).optional().build())
                .field("map", SchemaBuilder.map(Schema.STRING_SCHEMA, Schema.INT32_SCHEMA).build())
                .field("int_map", SchemaBuilder.map(Schema.INT32_SCHEMA, Schema.STRING_SCHEMA).build())
                .field("inner", inner)
                .field("opt_inner", SchemaBuilder.struct().name("com.example.Inner2").optional().field("z", Schema.BOOLEAN_SCHEMA).build())
                .build();
        Struct allv = new Struct(all_types).put("i8", (byte) -8).put("i16", (short) 1600).put("i32", 320000).put("i64", 6400000000L)
                .put("f32", 3.25f).put("f64", -0.125d).put("bool", true).put("str", "s\u00e9").put("bytes", new byte[]{1, 2, 3})
                .put("opt_i32", null).put("opt_str", "present")
                .put("arr", Arrays.asList("a", "b", ""))
                .put("opt_arr", null)
                .put("map", map("a", 1, "b", 2, "c", 3))
                .put("int_map", map(1, "one", 2, "two"))
                .put("inner", new Struct(inner).put("x", 5).put("y", null))
                .put("opt_inner", null);
        w("struct_all_types", all_types, allv);

        Schema withDefaults = SchemaBuilder.struct().name("com.example.Defaults")
                .field("req_def", SchemaBuilder.int32().defaultValue(10).build())
                .field("opt_def", SchemaBuilder.string().optional().defaultValue("d").build())
                .field("opt_nodef", Schema.OPTIONAL_FLOAT64_SCHEMA)
                .field("bool_def", SchemaBuilder.bool().defaultValue(false).build())
                .field("f64_def", SchemaBuilder.float64().defaultValue(1.5d).build())
                .field("bytes_def", SchemaBuilder.bytes().optional().defaultValue(new byte[]{9, 8}).build())
                .field("arr_def", SchemaBuilder.array(Schema.INT32_SCHEMA).optional().defaultValue(Arrays.asList(1, 2)).build())
                .field("map_def", SchemaBuilder.map(Schema.STRING_SCHEMA, Schema.STRING_SCHEMA).optional().defaultValue(map("k", "v")).build())
                .field("dec_def", Decimal.builder(2).optional().defaultValue(new BigDecimal("1.23")).build())
                .field("date_def", Date.builder().optional().defaultValue(new java.util.Date(86400000L * 3)).build())
                .build();
        w("struct_defaults_all_null", withDefaults, new Struct(withDefaults));
        w("struct_defaults_all_set", withDefaults, new Struct(withDefaults).put("req_def", 1).put("opt_def", "x").put("opt_nodef", 2.0)
                .put("bool_def", true).put("f64_def", 0.5).put("bytes_def", new byte[]{0}).put("arr_def", Arrays.asList(3))
                .put("map_def", map("a", "b")).put("dec_def", new BigDecimal("-0.01")).put("date_def", new java.util.Date(0)));
        Schema reqNoDefault = SchemaBuilder.struct().field("a", Schema.OPTIONAL_INT32_SCHEMA).field("b", Schema.STRING_SCHEMA).build();
        Struct missingReq = new Struct(reqNoDefault).put("a", 1);
        w("struct_required_null", reqNoDefault, missingReq);

        Schema nested = SchemaBuilder.struct().name("Outer")
                .field("structs", SchemaBuilder.array(inner).build())
                .field("matrix", SchemaBuilder.array(SchemaBuilder.array(Schema.FLOAT64_SCHEMA).build()).build())
                .field("by_name", SchemaBuilder.map(Schema.STRING_SCHEMA, inner).build())
                .field("struct_keys", SchemaBuilder.map(inner, Schema.INT64_SCHEMA).build())
                .field("opt_values", SchemaBuilder.map(Schema.STRING_SCHEMA, Schema.OPTIONAL_STRING_SCHEMA).build())
                .field("bool_keys", SchemaBuilder.map(Schema.BOOLEAN_SCHEMA, Schema.BYTES_SCHEMA).optional().build())
                .field("opt_items", SchemaBuilder.array(Schema.OPTIONAL_INT32_SCHEMA).build())
                .field("empty_arr", SchemaBuilder.array(Schema.STRING_SCHEMA).build())
                .field("empty_map", SchemaBuilder.map(Schema.STRING_SCHEMA, Schema.STRING_SCHEMA).build())
                .build();
        Struct nv = new Struct(nested)
                .put("structs", Arrays.asList(new Struct(inner).put("x", 1).put("y", "a"), new Struct(inner).put("x", 2)))
                .put("matrix", Arrays.asList(Arrays.asList(1.0, 2.5), Arrays.asList(), Arrays.asList(-1e-7)))
                .put("by_name", map("a", new Struct(inner).put("x", 3)))
                .put("struct_keys", map(new Struct(inner).put("x", 4).put("y", "k"), 99L))
                .put("opt_values", map("a", null, "b", "v"))
                .put("bool_keys", map(true, new byte[]{1}))
                .put("opt_items", Arrays.asList(1, null, 3))
                .put("empty_arr", Arrays.asList())
                .put("empty_map", map());
        w("struct_nested", nested, nv);

        // ---- logical types ----
        String[][] decimals = {{"0", "0"}, {"12345", "0"}, {"-12345", "0"}, {"12345", "2"}, {"-12345", "2"}, {"-1", "2"}, {"1", "2"},
                {"100", "2"}, {"127", "0"}, {"128", "0"}, {"-128", "0"}, {"-129", "0"}, {"255", "0"}, {"256", "3"},
                {"123456789012345678901234567890", "5"}, {"-123456789012345678901234567890", "5"}, {"1", "10"}, {"-5", "7"},
                {"123", "-2"}, {"9223372036854775807", "0"}, {"-9223372036854775808", "4"}, {"18446744073709551616", "1"}, {"1000", "6"}, {"1", "6"}};
        for (String[] d : decimals) {
            int scale = Integer.parseInt(d[1]);
            w("decimal_" + d[0] + "_scale_" + scale, Decimal.schema(scale), dec(d[0], scale));
        }
        w("decimal_optional_null", Decimal.builder(2).optional().build(), null);
        w("date_0", Date.SCHEMA, new java.util.Date(0));
        w("date_19000", Date.SCHEMA, new java.util.Date(19000L * 86400000L));
        w("date_negative", Date.SCHEMA, new java.util.Date(-365L * 86400000L));
        w("time_0", Time.SCHEMA, new java.util.Date(0));
        w("time_noonish", Time.SCHEMA, new java.util.Date(12 * 3600000L + 34 * 60000L + 56789L));
        w("timestamp_0", Timestamp.SCHEMA, new java.util.Date(0));
        w("timestamp_now", Timestamp.SCHEMA, new java.util.Date(1700000000123L));
        w("timestamp_negative", Timestamp.SCHEMA, new java.util.Date(-1L));
        Schema logicalStruct = SchemaBuilder.struct().name("com.example.Row").version(3)
                .field("id", Schema.INT32_SCHEMA).field("name", Schema.OPTIONAL_STRING_SCHEMA)
                .field("price", Decimal.schema(2)).field("ts", Timestamp.builder().optional().build())
                .field("d", Date.SCHEMA).field("t", Time.builder().optional().build())
                .field("tags", SchemaBuilder.array(Schema.STRING_SCHEMA).optional().build())
                .field("counts", SchemaBuilder.map(Schema.STRING_SCHEMA, Schema.INT32_SCHEMA).optional().build())
                .field("amounts", SchemaBuilder.array(Decimal.schema(3)).build())
                .build();
        w("struct_logical", logicalStruct, new Struct(logicalStruct).put("id", 1).put("name", "a").put("price", new BigDecimal("5.00"))
                .put("ts", new java.util.Date(1700000000000L)).put("d", new java.util.Date(86400000L * 2)).put("t", new java.util.Date(1000))
                .put("tags", Arrays.asList("x")).put("counts", map("k", 1))
                .put("amounts", Arrays.asList(new BigDecimal("1.000"), new BigDecimal("-0.001"), new BigDecimal("1234567.891"))));

        // ---- schema metadata ----
        Schema meta = SchemaBuilder.struct().name("com.example.Meta").version(7).doc("struct doc \u00e9")
                .parameter("connect.record.doc", "x").parameter("b", "2").parameter("a", "1")
                .field("f", SchemaBuilder.int64().name("inner.name").version(1).doc("field doc").parameter("k", "v").optional().build())
                .field("g", SchemaBuilder.array(SchemaBuilder.string().name("item").build()).name("arr.name").build())
                .build();
        w("struct_metadata", meta, new Struct(meta).put("f", 5L).put("g", Arrays.asList("i")));
        w("array_top_level", SchemaBuilder.array(Schema.INT32_SCHEMA).build(), Arrays.asList(1, 2, 3));
        w("map_top_level_int_keys", SchemaBuilder.map(Schema.INT64_SCHEMA, Schema.FLOAT32_SCHEMA).build(), map(1L, 0.5f, -2L, 1e10f));
        w("map_top_level_string_keys", SchemaBuilder.map(Schema.STRING_SCHEMA, Schema.BOOLEAN_SCHEMA).build(), map("a", true, "b", false));

        // ---- schemaless ----
        w("schemaless_string", null, "plain");
        w("schemaless_long", null, 42L);
        w("schemaless_int", null, 42);
        w("schemaless_double", null, 2.5d);
        w("schemaless_float", null, 0.1f);
        w("schemaless_bool", null, false);
        w("schemaless_bytes", null, new byte[]{(byte) 0xde, (byte) 0xad});
        w("schemaless_map", null, map("a", 1L, "b", "two", "c", Arrays.asList(1L, 2.5d, null, true), "d", map("e", null)));
        w("schemaless_map_int_keys", null, map(1L, "a", 2L, "b"));
        w("schemaless_map_mixed_keys", null, map("a", 1L, 2L, "b"));
        w("schemaless_list", null, Arrays.asList("a", 1L, 1.5d, false, null, map("k", "v"), Arrays.asList()));
        w("schemaless_empty_map", null, map());

        // ---- reads ----
        r("read_plain_with_schemas_enabled", true, "{\"a\":1}");
        r("read_extra_envelope_field", true, "{\"schema\":null,\"payload\":1,\"x\":2}");
        r("read_not_object", true, "[1,2]");
        r("read_schema_null", true, "{\"schema\":null,\"payload\":{\"a\":[1,2.5,\"x\"]}}");
        r("read_payload_order", true, "{\"payload\":7,\"schema\":{\"type\":\"int32\"}}");
        r("read_schemaless_int", false, "1");
        r("read_schemaless_neg_zero", false, "-0");
        r("read_schemaless_float", false, "1.5");
        r("read_schemaless_exp", false, "1e3");
        r("read_schemaless_exp_neg", false, "-2.5E-3");
        r("read_schemaless_big_int", false, "12345678901234567890");
        r("read_schemaless_u64_max", false, "18446744073709551615");
        r("read_schemaless_precise_float", false, "0.30000000000000004");
        r("read_schemaless_array", false, " [1, 2.5, \"x\", null, true, {\"a\": 1}] ");
        r("read_schemaless_object", false, "{\"a\":{\"b\":[]},\"c\":\"\\u00e9\\n\\ud83c\\udf89\"}");
        r("read_schemaless_duplicate_keys", false, "{\"a\":1,\"a\":2}");
        r("read_schemaless_null", false, "null");
        r("read_schemaless_string", false, "\"s\"");
        r("read_schemaless_true", false, "true");
        r("read_null_bytes_enabled", true, null);
        r("read_null_bytes_disabled", false, null);
        r("read_invalid_json", false, "{\"a\":");
        r("read_invalid_json_enabled", true, "{nope}");
        r("read_unknown_type", true, "{\"schema\":{\"type\":\"float32\"},\"payload\":1}");
        r("read_no_type", true, "{\"schema\":{\"optional\":true},\"payload\":1}");
        r("read_int32_from_float", true, "{\"schema\":{\"type\":\"int32\"},\"payload\":12.7}");
        r("read_int8_wraps", true, "{\"schema\":{\"type\":\"int8\"},\"payload\":300}");
        r("read_float_schema", true, "{\"schema\":{\"type\":\"float\"},\"payload\":0.1}");
        r("read_float_schema_int", true, "{\"schema\":{\"type\":\"float\"},\"payload\":3}");
        r("read_double_from_int", true, "{\"schema\":{\"type\":\"double\"},\"payload\":3}");
        r("read_int64_big", true, "{\"schema\":{\"type\":\"int64\"},\"payload\":9223372036854775807}");
        r("read_required_null", true, "{\"schema\":{\"type\":\"int32\",\"optional\":false},\"payload\":null}");
        r("read_optional_missing_optional_key", true, "{\"schema\":{\"type\":\"int32\"},\"payload\":null}");
        r("read_default_for_null", true, "{\"schema\":{\"type\":\"int32\",\"default\":5},\"payload\":null}");
        r("read_struct_missing_field", true, "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":false,\"field\":\"a\"}]},\"payload\":{}}");
        r("read_struct_missing_optional", true, "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":true,\"field\":\"a\"},{\"type\":\"string\",\"optional\":false,\"default\":\"dv\",\"field\":\"b\"}]},\"payload\":{\"extra\":1}}");
        r("read_struct_not_object", true, "{\"schema\":{\"type\":\"struct\",\"fields\":[]},\"payload\":[]}");
        r("read_struct_no_fields", true, "{\"schema\":{\"type\":\"struct\"},\"payload\":{}}");
        r("read_struct_field_no_name", true, "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\"}]},\"payload\":{}}");
        r("read_array_no_items", true, "{\"schema\":{\"type\":\"array\"},\"payload\":[]}");
        r("read_map_no_keys", true, "{\"schema\":{\"type\":\"map\",\"values\":{\"type\":\"int32\"}},\"payload\":{}}");
        r("read_map_string_keys_not_object", true, "{\"schema\":{\"type\":\"map\",\"keys\":{\"type\":\"string\"},\"values\":{\"type\":\"int32\"}},\"payload\":[]}");
        r("read_map_int_keys_not_array", true, "{\"schema\":{\"type\":\"map\",\"keys\":{\"type\":\"int32\"},\"values\":{\"type\":\"int32\"}},\"payload\":{}}");
        r("read_map_bad_entry", true, "{\"schema\":{\"type\":\"map\",\"keys\":{\"type\":\"int32\"},\"values\":{\"type\":\"int32\"}},\"payload\":[[1,2,3]]}");
        r("read_map_entry_not_array", true, "{\"schema\":{\"type\":\"map\",\"keys\":{\"type\":\"int32\"},\"values\":{\"type\":\"int32\"}},\"payload\":[1]}");
        r("read_params_not_string", true, "{\"schema\":{\"type\":\"int32\",\"parameters\":{\"a\":1}},\"payload\":1}");
        r("read_decimal_numeric", true, "{\"schema\":{\"type\":\"bytes\",\"name\":\"org.apache.kafka.connect.data.Decimal\",\"version\":1,\"parameters\":{\"scale\":\"2\"}},\"payload\":12.34}");
        r("read_decimal_numeric_int", true, "{\"schema\":{\"type\":\"bytes\",\"name\":\"org.apache.kafka.connect.data.Decimal\",\"version\":1,\"parameters\":{\"scale\":\"0\"}},\"payload\":-12}");
        r("read_decimal_base64", true, "{\"schema\":{\"type\":\"bytes\",\"name\":\"org.apache.kafka.connect.data.Decimal\",\"version\":1,\"parameters\":{\"scale\":\"2\"}},\"payload\":\"BNI=\"}");
        r("read_decimal_bad", true, "{\"schema\":{\"type\":\"bytes\",\"name\":\"org.apache.kafka.connect.data.Decimal\",\"version\":1,\"parameters\":{\"scale\":\"2\"}},\"payload\":true}");
        r("read_date_not_int", true, "{\"schema\":{\"type\":\"int32\",\"name\":\"org.apache.kafka.connect.data.Date\",\"version\":1},\"payload\":1.5}");
        r("read_timestamp_not_integral", true, "{\"schema\":{\"type\":\"int64\",\"name\":\"org.apache.kafka.connect.data.Timestamp\",\"version\":1},\"payload\":\"x\"}");
        r("read_bytes_base64", true, "{\"schema\":{\"type\":\"bytes\"},\"payload\":\"aGVsbG8=\"}");
        r("read_version_doc", true, "{\"schema\":{\"type\":\"string\",\"optional\":true,\"name\":\"n\",\"version\":2,\"doc\":\"d\",\"parameters\":{\"z\":\"1\",\"a\":\"2\"}},\"payload\":\"v\"}");
        r("read_whitespace_envelope", true, " {\n\"schema\" : { \"type\" : \"boolean\" } ,\t\"payload\" : true }\n");

        Files.write(out.resolve("write-cases.jsonl"), (String.join("\n", WRITE) + "\n").getBytes(StandardCharsets.UTF_8));
        Files.write(out.resolve("read-cases.jsonl"), (String.join("\n", READ) + "\n").getBytes(StandardCharsets.UTF_8));
        System.out.println("wrote " + WRITE.size() + " write cases and " + READ.size() + " read cases to " + out);
    }
}
