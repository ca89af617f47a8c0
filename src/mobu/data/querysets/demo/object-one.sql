SELECT object_id, ra, dec, mag, flux, '{{ query_id }}' AS query_id, 'object-one' AS template
FROM synth.main
WHERE object_id = {{ object }}
