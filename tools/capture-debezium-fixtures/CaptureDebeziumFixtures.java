// Captures what Debezium 3.0.7's PostgreSQL connector emits for the fixture table, as Kafka
// Connect's JsonConverter (schemas.enable=true) serialises key and value: see capture.sh.
//
// The connector runs in Debezium's embedded engine (the same connector class and JsonConverter
// the reference Kafka Connect loads, without a broker in between: a Connect worker hands
// exactly these SourceRecords to the converter). Every record is written as one JSON line
// {"topic", "key", "value", "partition", "offset"}; key/value are the converter's bytes parsed
// as JSON (null for a tombstone), partition/offset the record's source partition and offset.
import io.debezium.engine.ChangeEvent;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import io.debezium.engine.format.ChangeEventFormat;
import io.debezium.embedded.Connect;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.connect.json.JsonConverter;
import org.apache.kafka.connect.source.SourceRecord;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

public class CaptureDebeziumFixtures {
    static final String TABLE = "cdc_fixture";
    static final String PREFIX = "fixture";
    static final String SLOT = "cdc_fixture_slot";
    static final String PUBLICATION = "cdc_fixture_pub";

    public static void main(String[] args) throws Exception {
        Path fixtures = Path.of(args[0]);
        String date = args[1];
        String url = "jdbc:postgresql://127.0.0.1:5432/test";
        ObjectMapper json = new ObjectMapper();
        try (Connection c = DriverManager.getConnection(url, "postgres", "")) {
            cleanUp(c);
            runScript(c, fixtures.resolve("postgres-cdc-setup.sql"));
        }

        Properties p = new Properties();
        p.setProperty("name", "fixture-capture");
        p.setProperty("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
        p.setProperty("offset.storage", "org.apache.kafka.connect.storage.MemoryOffsetBackingStore");
        p.setProperty("offset.flush.interval.ms", "100");
        p.setProperty("database.hostname", "127.0.0.1");
        p.setProperty("database.port", "5432");
        p.setProperty("database.user", "postgres");
        p.setProperty("database.password", "");
        p.setProperty("database.dbname", "test");
        p.setProperty("topic.prefix", PREFIX);
        p.setProperty("plugin.name", "pgoutput");
        p.setProperty("slot.name", SLOT);
        p.setProperty("publication.name", PUBLICATION);
        p.setProperty("publication.autocreate.mode", "filtered");
        p.setProperty("table.include.list", "public." + TABLE);
        p.setProperty("snapshot.mode", "initial");

        JsonConverter keys = new JsonConverter();
        keys.configure(Map.of("schemas.enable", "true"), true);
        JsonConverter values = new JsonConverter();
        values.configure(Map.of("schemas.enable", "true"), false);

        LinkedBlockingQueue<SourceRecord> received = new LinkedBlockingQueue<>();
        DebeziumEngine<RecordChangeEvent<SourceRecord>> engine =
            DebeziumEngine.create(ChangeEventFormat.of(Connect.class))
                .using(p)
                .notifying(e -> received.add(e.record()))
                .build();
        ExecutorService executor = Executors.newSingleThreadExecutor();
        executor.execute(engine);

        List<SourceRecord> records = new ArrayList<>();
        take(received, records, 3); // the snapshot: three rows
        try (Connection c = DriverManager.getConnection(url, "postgres", "")) {
            runScript(c, fixtures.resolve("postgres-cdc-changes.sql"));
        }
        take(received, records, 4); // insert, update, delete and its tombstone
        engine.close();
        executor.shutdown();
        executor.awaitTermination(30, TimeUnit.SECONDS);

        StringBuilder out = new StringBuilder();
        ObjectNode comment = json.createObjectNode();
        comment.put("comment", "Captured " + date + " by tools/capture-debezium-fixtures/capture.sh: Debezium 3.0.7.Final's "
            + "PostgresConnector (plugin.name=pgoutput, snapshot.mode=initial, topic.prefix=" + PREFIX
            + ", table.include.list=public." + TABLE + ", other keys at their defaults) on PostgreSQL 15, key and value as "
            + "Kafka Connect 3.9.0's JsonConverter (schemas.enable=true) writes them; the table and rows: "
            + "postgres-cdc-setup.sql (snapshot) and postgres-cdc-changes.sql (streamed), {table}=" + TABLE + ".");
        out.append(json.writeValueAsString(comment)).append('\n');
        for (SourceRecord r : records) {
            ObjectNode line = json.createObjectNode();
            line.put("topic", r.topic());
            byte[] k = keys.fromConnectData(r.topic(), r.keySchema(), r.key());
            byte[] v = values.fromConnectData(r.topic(), r.valueSchema(), r.value());
            line.set("key", k == null ? null : json.readTree(k));
            line.set("value", v == null ? null : json.readTree(v));
            line.set("partition", json.valueToTree(r.sourcePartition()));
            line.set("offset", json.valueToTree(r.sourceOffset()));
            out.append(json.writeValueAsString(line)).append('\n');
        }
        Files.writeString(fixtures.resolve("postgres-cdc.jsonl"), out.toString(), StandardCharsets.UTF_8);
        try (Connection c = DriverManager.getConnection(url, "postgres", "")) {
            cleanUp(c);
        }
        System.out.println("wrote " + records.size() + " records to " + fixtures.resolve("postgres-cdc.jsonl"));
        System.exit(0);
    }

    static void take(LinkedBlockingQueue<SourceRecord> q, List<SourceRecord> into, int n) throws Exception {
        for (int i = 0; i < n; i++) {
            SourceRecord r = q.poll(120, TimeUnit.SECONDS);
            if (r == null) {
                throw new IllegalStateException("Debezium emitted only " + into.size() + " records; expected more");
            }
            into.add(r);
        }
    }

    static void runScript(Connection c, Path script) throws Exception {
        String sql = Files.readString(script).replace("{table}", TABLE);
        StringBuilder stmt = new StringBuilder();
        for (String line : sql.split("\n")) {
            if (line.startsWith("--")) continue;
            stmt.append(line).append('\n');
            if (line.trim().endsWith(";")) {
                try (Statement s = c.createStatement()) {
                    s.execute(stmt.toString());
                }
                stmt.setLength(0);
            }
        }
    }

    static void cleanUp(Connection c) throws Exception {
        try (Statement s = c.createStatement()) {
            s.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '" + SLOT + "'");
            s.execute("DROP PUBLICATION IF EXISTS " + PUBLICATION);
            s.execute("DROP TABLE IF EXISTS " + TABLE);
        }
    }
}
