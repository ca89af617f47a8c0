SELECT COUNT(*) AS n, '{{ query_id }}' AS query_id, 'cone-count' AS template
FROM synth.main
WHERE CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', {{ ra }}, {{ dec }}, {{ radius_near }})) = 1
