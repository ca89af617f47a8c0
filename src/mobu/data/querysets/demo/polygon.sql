SELECT object_id, ra, dec, mag, '{{ query_id }}' AS query_id, 'polygon' AS template
FROM synth.main
WHERE CONTAINS(POINT('ICRS', ra, dec), POLYGON('ICRS', {{ polygon }})) = 1
