SELECT objectId, coord_ra, coord_dec, r_psfFlux, r_psfFluxErr,
       '{{ query_id }}' AS query_id, 'polygon-object' AS template
FROM dp02_dc2_catalogs.Object
WHERE CONTAINS(POINT('ICRS', coord_ra, coord_dec), POLYGON('ICRS', {{ polygon }})) = 1
