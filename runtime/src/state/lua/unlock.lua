-- Ends the lease of one token. KEYS[1]: the live leases; ARGV[1]: the token.
-- Returns how many leases ended (0: it held none).
return redis.call('ZREM', KEYS[1], 'x:' .. ARGV[1], 's:' .. ARGV[1])
