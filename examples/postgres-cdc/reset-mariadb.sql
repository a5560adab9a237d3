-- The example's destination side, from scratch: the JDBC sink creates the table
-- (auto.create=true) from the first change event's schema.
-- Run by `cargo xtask postgres-cdc` and by the example's test (mysql test < reset-mariadb.sql).
DROP TABLE IF EXISTS example_orders_replica;
