SELECT objectId, coord_ra, coord_dec, u_psfFlux, g_psfFlux, r_psfFlux, i_psfFlux, z_psfFlux, y_psfFlux,
       '{{ query_id }}' AS query_id, 'object-one' AS template
FROM dp02_dc2_catalogs.Object
WHERE objectId = {{ object }}
