-- Runs once, when the mysql service initialises an empty data volume, after 01-pipeline-user.sh has created
-- the account 'stockmart'@'%' (its password comes from STOCKMART_MYSQL_PASSWORD in .env).
--
-- The pipeline gets privileges on the `stockmart` schema only, and globally only the two replication ones the
-- binlog reader needs: no FILE
-- (LOAD DATA LOCAL INFILE reads the file on the client and needs only INSERT), no GRANT OPTION, no routines,
-- triggers, views or events. The application never connects as root (root may only log in from inside the
-- mysql container: MYSQL_ROOT_HOST=localhost in docker-compose.yaml).

CREATE DATABASE IF NOT EXISTS `stockmart` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;

-- SELECT, INSERT, UPDATE, DELETE  read the landed tables; replace partitions and merge dimensions
-- CREATE, ALTER, INDEX, REFERENCES  stockmart_assets.mysql.ddl creates the tables, their keys and foreign keys
-- DROP                             drop / recreate the pipeline's own tables (MySQL cannot scope DROP to a
--                                  table-name pattern; at this level it also covers DROP DATABASE stockmart)
-- CREATE TEMPORARY TABLES          the per-load staging tables (_stage_<table>) of stockmart_assets.mysql.load
-- LOCK TABLES                      consistent reads / exports of several tables
GRANT SELECT, INSERT, UPDATE, DELETE,
      CREATE, ALTER, INDEX, REFERENCES, DROP,
      CREATE TEMPORARY TABLES, LOCK TABLES
   ON `stockmart`.* TO 'stockmart'@'%';

-- REPLICATION SLAVE, REPLICATION CLIENT  read the row-based binlog and its position (the mysql_binlog sensor,
--                                       stockmart_assets/lib/mysql/binlog.py); MySQL has them only globally
GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'stockmart'@'%';
