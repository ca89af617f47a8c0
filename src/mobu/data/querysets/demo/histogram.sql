SELECT FLOOR(mag) AS mag_bin, COUNT(*) AS n, '{{ query_id }}' AS query_id, 'histogram' AS template
FROM synth.main
WHERE dec BETWEEN {{ dec }} - 1 AND {{ dec }} + 1
GROUP BY mag_bin
ORDER BY mag_bin
