-- Outbox headers as two arrays (names, values) instead of JSON with base64 values:
-- asyncpg encodes and decodes arrays natively, while the JSON form cost a JSON dump and
-- a base64 encode per header on write and the reverse in the relay (profiled: about a
-- seventh of dispatch's time). Rows already waiting are converted.
-- depends: 0001_delivery

ALTER TABLE outbox ADD COLUMN header_names text[], ADD COLUMN header_values bytea[];
UPDATE outbox SET
    header_names = ARRAY(SELECT h ->> 0 FROM jsonb_array_elements(headers) WITH ORDINALITY AS t(h, n) ORDER BY n),
    header_values = ARRAY(SELECT decode(h ->> 1, 'base64') FROM jsonb_array_elements(headers) WITH ORDINALITY AS t(h, n) ORDER BY n);
ALTER TABLE outbox ALTER COLUMN header_names SET NOT NULL,
                   ALTER COLUMN header_values SET NOT NULL,
                   DROP COLUMN headers;
