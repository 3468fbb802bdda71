-- Appeals as intake accepted them. Exact location and the phone number stay here.
-- depends: 0001_delivery

CREATE TABLE appeals (
    appeal_id         uuid PRIMARY KEY,
    tracking_code     text        NOT NULL UNIQUE,
    channel           text        NOT NULL,
    external_id       text,
    received_at       timestamptz NOT NULL,
    occurred_at       timestamptz,
    title             text,
    content           text        NOT NULL,
    matter_code       text,
    matter_confidence real,
    county_code       text,
    township_code     text,
    community_code    text,
    grid_code         text,
    latitude          double precision,
    longitude         double precision,
    resolved_on_spot  boolean     NOT NULL DEFAULT false,
    grid_worker_id    text,
    status            text        NOT NULL DEFAULT 'received'
);
-- (channel, external id) identifies an appeal: a retried submission finds the original.
CREATE UNIQUE INDEX appeals_channel_external_id ON appeals (channel, external_id)
    WHERE external_id IS NOT NULL;

-- Contact details apart from the appeal, so that most reads never touch them.
CREATE TABLE appeal_contacts (
    appeal_id    uuid PRIMARY KEY REFERENCES appeals (appeal_id),
    phone_e164   text NOT NULL,
    phone_masked text NOT NULL
);
