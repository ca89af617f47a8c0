SELECT TOP 100 objectId, coord_ra, coord_dec, i_psfFlux,
       '{{ query_id }}' AS query_id, 'scan-object-top' AS template
FROM dp02_dc2_catalogs.Object
WHERE i_psfFlux BETWEEN {{ min_flux }} AND {{ max_flux }}
ORDER BY i_psfFlux DESC
