SELECT objectId, coord_ra, coord_dec, g_psfFlux, r_psfFlux, i_psfFlux,
       '{{ query_id }}' AS query_id, 'object-several' AS template
FROM dp02_dc2_catalogs.Object
WHERE objectId IN ({{ objects }})
