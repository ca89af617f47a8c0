SELECT object_id, ra, dec, mag, '{{ query_id }}' AS query_id, 'objects' AS template
FROM synth.main
WHERE object_id IN ({{ objects }})
