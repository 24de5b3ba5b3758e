"""Data access shared by the services that may touch a database (API and conductor).

Functions take an AsyncSession and never commit unless their name says so; callers
own the transaction so that one request writes all or nothing.
"""
