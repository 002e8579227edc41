-- Databases of the compose platform: one per node and service ({service}_{node}).
-- The postgres image runs this once, when its data volume is empty: after adding a node or a
-- service here, run `docker compose down -v` (it deletes the data) or create the database by hand.
-- All four services are listed so that enabling a pending service needs no new database.

CREATE DATABASE registry_510000;
CREATE DATABASE events_510000;
CREATE DATABASE matching_510000;
CREATE DATABASE reporting_510000;

CREATE DATABASE registry_510100;
CREATE DATABASE events_510100;
CREATE DATABASE matching_510100;
CREATE DATABASE reporting_510100;
