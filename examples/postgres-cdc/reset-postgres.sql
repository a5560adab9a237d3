-- The example's source side, from scratch: no slot, publication or table left from an earlier
-- run (a forgotten slot holds WAL on the server for good), then the table with three rows.
-- Run by `cargo xtask postgres-cdc` and by the example's test (psql -d test -f reset-postgres.sql).
SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
 WHERE slot_name = 'sluice_example_slot' AND NOT active;
DROP PUBLICATION IF EXISTS sluice_example_pub;
DROP TABLE IF EXISTS example_orders;
CREATE TABLE example_orders (
    id integer PRIMARY KEY,
    customer text NOT NULL,
    amount numeric(10,2) NOT NULL,
    status text NOT NULL
);
INSERT INTO example_orders VALUES
    (1, 'alice', 12.50, 'new'),
    (2, 'bob', 7.00, 'new'),
    (3, 'carol', 99.99, 'paid');
