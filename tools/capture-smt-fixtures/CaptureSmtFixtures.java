// Captures what Apache Kafka Connect's own SMT chain makes of the records in
// tests/fixtures/smt/cases/<case>.json, into tests/fixtures/smt/expected/<case>.jsonl.
// Run through capture.sh (it compiles this file against $REF_HOME/classpath.txt).
//
// The chain is built the way Kafka Connect's ConnectorConfig/TransformationChain build it:
// each alias in `transforms` is instantiated from `transforms.<a>.type` and configured with the
// `transforms.<a>.` keys (prefix stripped, `predicate`/`negate` removed); its predicate, if any,
// is a fresh instance of `predicates.<p>.type` configured with the `predicates.<p>.` keys; a
// stage runs when there is no predicate or when `negate XOR test(record)`; a null result drops
// the record and ends the chain for it.
//
// Record line format (the same as `sluice transform` reads and writes):
//   {"topic":"t","partition":0,"offset":5,"timestamp":1700000000000,"key":K,"value":V,
//    "headers":[{"key":"h","value":H}]}
// K, V and H are JsonConverter envelopes ({"schema":...,"payload":...}) or JSON null for a Kafka
// null. Every record is a SinkRecord: partition defaults to 0, offset to the record's 0-based
// position in the case, timestampType to CreateTime when there is a timestamp.
// Output per record: the transformed record (topic, partition, timestamp, key, value, headers,
// key/value/headers written by JsonConverter with schemas.enable=true, bytes kept as Kafka wrote
// them), {"dropped":true}, or {"error":"<the exception's message>"}.
//
// Usage: java CaptureSmtFixtures CASES_DIR EXPECTED_DIR DATE [case...]
//        java CaptureSmtFixtures --bench CASE_FILE RECORDS_JSONL   (timing only; see docs/benchmarks.md)
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.utils.AppInfoParser;
import org.apache.kafka.connect.connector.ConnectRecord;
import org.apache.kafka.connect.data.SchemaAndValue;
import org.apache.kafka.connect.header.ConnectHeaders;
import org.apache.kafka.connect.header.Header;
import org.apache.kafka.connect.json.JsonConverter;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.transforms.Transformation;
import org.apache.kafka.connect.transforms.predicates.Predicate;

import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;

public class CaptureSmtFixtures {
    static final ObjectMapper MAPPER = new ObjectMapper();
    static final Set<String> CASE_FIELDS = new HashSet<>(Arrays.asList("description", "config", "records"));
    static final Set<String> RECORD_FIELDS = new HashSet<>(Arrays.asList(
            "topic", "partition", "offset", "timestamp", "timestampType", "key", "value", "headers"));

    static JsonConverter converter(boolean isKey) {
        JsonConverter c = new JsonConverter();
        Map<String, Object> p = new HashMap<>();
        p.put("schemas.enable", "true");
        c.configure(p, isKey);
        return c;
    }

    static final JsonConverter KEY = converter(true);
    static final JsonConverter VALUE = converter(false);
    static final JsonConverter HEADER = converter(false);

    /** One stage of the chain: Kafka's TransformationStage. */
    static final class Stage {
        final Transformation<SinkRecord> transformation;
        final Predicate<SinkRecord> predicate;
        final boolean negate;

        Stage(Transformation<SinkRecord> t, Predicate<SinkRecord> p, boolean negate) {
            this.transformation = t;
            this.predicate = p;
            this.negate = negate;
        }

        SinkRecord apply(SinkRecord r) {
            if (predicate == null || negate ^ predicate.test(r)) {
                return transformation.apply(r);
            }
            return r;
        }
    }

    static Map<String, Object> withPrefix(Map<String, String> config, String prefix) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : config.entrySet()) {
            if (e.getKey().startsWith(prefix)) {
                out.put(e.getKey().substring(prefix.length()), e.getValue());
            }
        }
        return out;
    }

    static List<String> aliases(String list) {
        List<String> out = new ArrayList<>();
        if (list == null) return out;
        for (String a : list.split(",")) {
            if (!a.trim().isEmpty()) out.add(a.trim());
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    static List<Stage> chain(Map<String, String> config) throws Exception {
        List<Stage> stages = new ArrayList<>();
        for (String alias : aliases(config.get("transforms"))) {
            String prefix = "transforms." + alias + ".";
            String type = config.get(prefix + "type");
            if (type == null) throw new IllegalArgumentException("missing " + prefix + "type");
            Transformation<SinkRecord> t = (Transformation<SinkRecord>) Class.forName(type).getDeclaredConstructor().newInstance();
            Map<String, Object> tc = withPrefix(config, prefix);
            Object predicateAlias = tc.remove("predicate");
            Object negate = tc.remove("negate");
            t.configure(tc);
            Predicate<SinkRecord> p = null;
            if (predicateAlias != null) {
                String pprefix = "predicates." + predicateAlias + ".";
                String ptype = config.get(pprefix + "type");
                if (ptype == null) throw new IllegalArgumentException("missing " + pprefix + "type");
                p = (Predicate<SinkRecord>) Class.forName(ptype).getDeclaredConstructor().newInstance();
                p.configure(withPrefix(config, pprefix));
            }
            stages.add(new Stage(t, p, negate != null && Boolean.parseBoolean(negate.toString())));
        }
        if (stages.isEmpty()) throw new IllegalArgumentException("no transforms configured");
        return stages;
    }

    static byte[] bytes(JsonNode n) throws IOException {
        return (n == null || n.isNull()) ? null : MAPPER.writeValueAsBytes(n);
    }

    static SinkRecord record(JsonNode r, long position) throws IOException {
        Iterator<String> names = r.fieldNames();
        while (names.hasNext()) {
            String f = names.next();
            if (!RECORD_FIELDS.contains(f)) throw new IllegalArgumentException("unknown record field " + f);
        }
        String topic = r.get("topic").asText();
        int partition = r.hasNonNull("partition") ? r.get("partition").asInt() : 0;
        long offset = r.hasNonNull("offset") ? r.get("offset").asLong() : position;
        Long timestamp = r.hasNonNull("timestamp") ? r.get("timestamp").asLong() : null;
        TimestampType tt = r.hasNonNull("timestampType")
                ? TimestampType.forName(r.get("timestampType").asText())
                : (timestamp != null ? TimestampType.CREATE_TIME : TimestampType.NO_TIMESTAMP_TYPE);
        SchemaAndValue key = KEY.toConnectData(topic, bytes(r.get("key")));
        SchemaAndValue value = VALUE.toConnectData(topic, bytes(r.get("value")));
        ConnectHeaders headers = new ConnectHeaders();
        if (r.hasNonNull("headers")) {
            for (JsonNode h : r.get("headers")) {
                String hk = h.get("key").asText();
                headers.add(hk, HEADER.toConnectHeader(topic, hk, bytes(h.get("value"))));
            }
        }
        return new SinkRecord(topic, partition, key.schema(), key.value(), value.schema(), value.value(),
                offset, timestamp, tt, headers);
    }

    static String str(byte[] b) {
        return b == null ? "null" : new String(b, StandardCharsets.UTF_8);
    }

    static String render(SinkRecord r) throws IOException {
        StringBuilder sb = new StringBuilder();
        String topic = r.topic();
        sb.append("{\"topic\":").append(MAPPER.writeValueAsString(topic));
        sb.append(",\"partition\":").append(r.kafkaPartition() == null ? "null" : r.kafkaPartition().toString());
        sb.append(",\"timestamp\":").append(r.timestamp() == null ? "null" : r.timestamp().toString());
        String step = "key";
        try {
            String key = str(KEY.fromConnectData(topic, r.keySchema(), r.key()));
            step = "value";
            String value = str(VALUE.fromConnectData(topic, r.valueSchema(), r.value()));
            sb.append(",\"key\":").append(key).append(",\"value\":").append(value).append(",\"headers\":[");
            boolean first = true;
            for (Header h : r.headers()) {
                step = "header " + h.key();
                if (!first) sb.append(',');
                first = false;
                sb.append("{\"key\":").append(MAPPER.writeValueAsString(h.key())).append(",\"value\":")
                        .append(str(HEADER.fromConnectHeader(topic, h.key(), h.schema(), h.value()))).append('}');
            }
            sb.append("]}");
        } catch (RuntimeException e) {
            return error("cannot encode the transformed " + step + ": " + message(e));
        }
        return sb.toString();
    }

    static String message(Throwable e) {
        return e.getMessage() != null ? e.getMessage() : e.getClass().getName();
    }

    static String error(String message) throws IOException {
        return "{\"error\":" + MAPPER.writeValueAsString(message) + "}";
    }

    static String applyOne(List<Stage> stages, SinkRecord r) throws IOException {
        try {
            for (Stage s : stages) {
                r = s.apply(r);
                if (r == null) return "{\"dropped\":true}";
            }
        } catch (RuntimeException e) {
            return error(message(e));
        }
        return render(r);
    }

    static Map<String, String> config(JsonNode c) {
        Map<String, String> out = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> it = c.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            out.put(e.getKey(), e.getValue().asText());
        }
        return out;
    }

    static void capture(Path caseFile, Path expected, String date) throws Exception {
        JsonNode doc = MAPPER.readTree(caseFile.toFile());
        Iterator<String> names = doc.fieldNames();
        while (names.hasNext()) {
            String f = names.next();
            if (!CASE_FIELDS.contains(f)) throw new IllegalArgumentException("unknown case field " + f + " (expected description, config, records)");
        }
        List<Stage> stages = chain(config(doc.get("config")));
        List<String> out = new ArrayList<>();
        Map<String, String> comment = new LinkedHashMap<>();
        comment.put("comment", "captured from Apache Kafka Connect " + AppInfoParser.getVersion()
                + " by tools/capture-smt-fixtures/capture.sh " + date);
        out.add(MAPPER.writeValueAsString(comment));
        long position = 0;
        for (JsonNode r : doc.get("records")) {
            SinkRecord record;
            try {
                record = record(r, position);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("records[" + position + "]: " + message(e), e);
            }
            position++;
            out.add(applyOne(stages, record));
        }
        for (Stage s : stages) {
            s.transformation.close();
            if (s.predicate != null) s.predicate.close();
        }
        Files.write(expected, (String.join("\n", out) + "\n").getBytes(StandardCharsets.UTF_8));
    }

    /** Times the chain alone over the records of a JSONL file (converters excluded). */
    static void bench(Path caseFile, Path recordsFile) throws Exception {
        JsonNode doc = MAPPER.readTree(caseFile.toFile());
        List<Stage> stages = chain(config(doc.get("config")));
        List<SinkRecord> records = new ArrayList<>();
        long position = 0;
        try (BufferedReader in = Files.newBufferedReader(recordsFile)) {
            String line;
            while ((line = in.readLine()) != null) {
                if (!line.trim().isEmpty()) records.add(record(MAPPER.readTree(line), position++));
            }
        }
        long kept = 0;
        // Two warm-up passes so the JIT has compiled the chain, then the measured pass.
        for (int pass = 0; pass < 3; pass++) {
            long start = System.nanoTime();
            long k = 0;
            for (SinkRecord r : records) {
                SinkRecord out = r;
                for (Stage s : stages) {
                    out = s.apply(out);
                    if (out == null) break;
                }
                if (out != null) k++;
            }
            long ns = System.nanoTime() - start;
            kept = k;
            System.out.printf("pass %d: %d records, %d kept, %.1f ns/record (chain only)%n",
                    pass, records.size(), kept, (double) ns / records.size());
        }
        long start = System.nanoTime();
        long chars = 0;
        for (SinkRecord r : records) {
            chars += applyOne(stages, r).length();
        }
        long ns = System.nanoTime() - start;
        System.out.printf("chain + JsonConverter encode: %.1f ns/record (%d chars)%n", (double) ns / records.size(), chars);
    }

    public static void main(String[] args) throws Exception {
        if (args.length >= 1 && args[0].equals("--bench")) {
            bench(Paths.get(args[1]), Paths.get(args[2]));
            return;
        }
        Path cases = Paths.get(args[0]);
        Path expected = Paths.get(args[1]);
        String date = args[2];
        List<String> wanted = Arrays.asList(args).subList(3, args.length);
        List<Path> files = new ArrayList<>();
        if (wanted.isEmpty()) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(cases, "*.json")) {
                for (Path p : ds) files.add(p);
            }
        } else {
            for (String w : wanted) {
                String name = w.endsWith(".json") ? w : w + ".json";
                files.add(cases.resolve(Paths.get(name).getFileName()));
            }
        }
        Collections.sort(files);
        Files.createDirectories(expected);
        int failed = 0;
        for (Path f : files) {
            String name = f.getFileName().toString().replaceFirst("\\.json$", "");
            try {
                capture(f, expected.resolve(name + ".jsonl"), date);
                System.out.println("captured " + name);
            } catch (Exception e) {
                failed++;
                System.err.println("FAILED " + name + ": " + e);
            }
        }
        if (failed > 0) {
            System.err.println(failed + " case(s) could not be captured");
            System.exit(1);
        }
    }
}
