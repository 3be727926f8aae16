"""Every read and write of the database, as functions taking ``db`` first.

Views never write SQL; they call these. Writes that belong together run in one
:func:`diary.db.transaction`.
"""
