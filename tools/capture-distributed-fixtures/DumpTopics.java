// Prints every record of the given topics, from the beginning to the current end, as JSON
// lines {"topic","partition","offset","key","value"} with key and value as UTF-8 strings (or
// null). Used by capture.sh to record what the reference Kafka Connect wrote to its internal
// topics. Usage: java DumpTopics BOOTSTRAP TOPIC...
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

public class DumpTopics {
    public static void main(String[] args) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", args[0]);
        p.put("key.deserializer", ByteArrayDeserializer.class.getName());
        p.put("value.deserializer", ByteArrayDeserializer.class.getName());
        p.put("enable.auto.commit", "false");
        ObjectMapper json = new ObjectMapper();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
            for (int t = 1; t < args.length; t++) {
                String topic = args[t];
                List<TopicPartition> parts = new ArrayList<>();
                c.partitionsFor(topic).forEach(i -> parts.add(new TopicPartition(topic, i.partition())));
                parts.sort(Comparator.comparingInt(TopicPartition::partition));
                c.assign(parts);
                c.seekToBeginning(parts);
                Map<TopicPartition, Long> end = c.endOffsets(parts);
                List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>();
                long deadline = System.currentTimeMillis() + 30_000;
                while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
                    if (System.currentTimeMillis() > deadline) throw new IllegalStateException("not at the end of " + topic);
                    for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) all.add(r);
                }
                all.sort(Comparator.<ConsumerRecord<byte[], byte[]>>comparingInt(ConsumerRecord::partition).thenComparingLong(ConsumerRecord::offset));
                for (ConsumerRecord<byte[], byte[]> r : all) {
                    ObjectNode o = json.createObjectNode();
                    o.put("topic", topic);
                    o.put("partition", r.partition());
                    o.put("offset", r.offset());
                    o.put("key", r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8));
                    o.put("value", r.value() == null ? null : new String(r.value(), StandardCharsets.UTF_8));
                    System.out.println(json.writeValueAsString(o));
                }
            }
        }
    }
}
