-- At most one published version per borough, whatever the interleaving of
-- concurrent publishes.
CREATE UNIQUE INDEX content_versions_one_published ON content_versions (borough_id) WHERE status = 'published';
