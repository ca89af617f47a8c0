SELECT TOP 1000 object_id, ra, dec, mag, '{{ query_id }}' AS query_id, 'mag-range' AS template
FROM synth.main
WHERE mag BETWEEN {{ min_mag }} AND {{ max_mag }}
ORDER BY mag
