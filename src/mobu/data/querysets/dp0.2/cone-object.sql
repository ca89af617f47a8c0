SELECT objectId, coord_ra, coord_dec, g_psfFlux, r_psfFlux, i_psfFlux, refExtendedness,
       '{{ query_id }}' AS query_id, 'cone-object' AS template
FROM dp02_dc2_catalogs.Object
WHERE CONTAINS(POINT('ICRS', coord_ra, coord_dec), CIRCLE('ICRS', {{ ra }}, {{ dec }}, {{ radius }})) = 1
  AND detect_isPrimary = 1
