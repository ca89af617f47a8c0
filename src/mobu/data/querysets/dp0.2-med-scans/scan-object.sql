SELECT objectId, coord_ra, coord_dec, r_psfFlux,
       '{{ query_id }}' AS query_id, 'scan-object' AS template
FROM dp02_dc2_catalogs.Object
WHERE r_psfFlux BETWEEN {{ min_flux }} AND {{ max_flux }}
