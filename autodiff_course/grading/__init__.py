"""Grading untrusted notebooks: sandbox, warm worker pool, restored test cells.

Entry points: `autodiff_course.grading.pool.WorkerPool`, `autodiff_course.grading.limits.Limits`,
`autodiff_course.grading.restore.restore_test_cells`. Submodules are not imported here so that importing the
package stays cheap (the worker imports what it needs itself).
"""
