-- Parts list their requests in part_requests (0007): the index of requests
-- by part is no longer read.
DROP INDEX requests_part;
