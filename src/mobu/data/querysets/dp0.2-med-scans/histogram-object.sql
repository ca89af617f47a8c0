SELECT FLOOR(refExtendedness * 10) AS bin, COUNT(*) AS n,
       '{{ query_id }}' AS query_id, 'histogram-object' AS template
FROM dp02_dc2_catalogs.Object
WHERE detect_isPrimary = 1 AND r_psfFlux BETWEEN {{ min_flux }} AND {{ max_flux }}
GROUP BY FLOOR(refExtendedness * 10)
