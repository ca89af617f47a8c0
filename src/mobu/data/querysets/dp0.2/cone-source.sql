SELECT sourceId, coord_ra, coord_dec, ccdVisitId, band, psfFlux, psfFluxErr,
       '{{ query_id }}' AS query_id, 'cone-source' AS template
FROM dp02_dc2_catalogs.Source
WHERE CONTAINS(POINT('ICRS', coord_ra, coord_dec), CIRCLE('ICRS', {{ ra }}, {{ dec }}, {{ radius }})) = 1
