-- Run once by the postgres image on an empty data directory (deploy/compose.yaml):
-- the Rasa servers' conversations get their own database beside the handoff
-- service's (POSTGRES_DB), owned by the same user.
CREATE DATABASE tandem_rasa OWNER tandem;
