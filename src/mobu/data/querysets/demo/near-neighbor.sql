SELECT TOP 100 a.object_id, b.object_id AS neighbor_id,
  DISTANCE(POINT('ICRS', a.ra, a.dec), POINT('ICRS', b.ra, b.dec)) AS separation,
  '{{ query_id }}' AS query_id, 'near-neighbor' AS template
FROM synth.main AS a JOIN synth.main AS b
  ON CONTAINS(POINT('ICRS', b.ra, b.dec), CIRCLE('ICRS', a.ra, a.dec, 0.1)) = 1
WHERE CONTAINS(POINT('ICRS', a.ra, a.dec), CIRCLE('ICRS', {{ ra }}, {{ dec }}, {{ radius }})) = 1
  AND b.object_id > a.object_id
ORDER BY separation
