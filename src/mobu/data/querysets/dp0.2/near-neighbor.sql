SELECT o1.objectId AS id1, o2.objectId AS id2,
       DISTANCE(POINT('ICRS', o1.coord_ra, o1.coord_dec), POINT('ICRS', o2.coord_ra, o2.coord_dec)) AS separation,
       '{{ query_id }}' AS query_id, 'near-neighbor' AS template
FROM dp02_dc2_catalogs.Object AS o1, dp02_dc2_catalogs.Object AS o2
WHERE CONTAINS(POINT('ICRS', o1.coord_ra, o1.coord_dec), CIRCLE('ICRS', {{ ra }}, {{ dec }}, {{ radius_near }})) = 1
  AND DISTANCE(POINT('ICRS', o1.coord_ra, o1.coord_dec), POINT('ICRS', o2.coord_ra, o2.coord_dec)) < 0.0005
  AND o1.objectId != o2.objectId
