-- Enforcement cases arrive with the enforcement issue; the schema starts with the
-- delivery tables only.
-- depends: 0001_delivery
SELECT 1;
