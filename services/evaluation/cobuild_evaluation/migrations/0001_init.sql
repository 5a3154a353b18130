-- evaluation service schema (tables are added by the service's migrations)
SELECT 1;
