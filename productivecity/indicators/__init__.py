"""Indicators per candidate site: vacancy, labour market, accessibility, canal."""
