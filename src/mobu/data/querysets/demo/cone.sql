SELECT object_id, ra, dec, mag, '{{ query_id }}' AS query_id, 'cone' AS template
FROM synth.main
WHERE CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', {{ ra }}, {{ dec }}, {{ radius }})) = 1
