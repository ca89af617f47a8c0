SELECT sourceId, coord_ra, coord_dec, band, psfFlux,
       '{{ query_id }}' AS query_id, 'polygon-source' AS template
FROM dp02_dc2_catalogs.Source
WHERE CONTAINS(POINT('ICRS', coord_ra, coord_dec), POLYGON('ICRS', {{ polygon }})) = 1
