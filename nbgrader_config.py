# nbgrader's configuration for this course: instructor notebooks live in notebooks/<assignment>/, student
# versions are generated into release/<assignment>/, and the bundled example class is examples/submitted/.
# Paths are relative to this file so the course works wherever the repository is checked out.
import os

c = get_config()  # noqa: F821 - injected by nbgrader's config loader

_here = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = _here
c.CourseDirectory.source_directory = "notebooks"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = os.path.join("examples", "submitted")
c.CourseDirectory.autograded_directory = os.path.join("graded", "autograded")
c.CourseDirectory.feedback_directory = os.path.join("graded", "feedback")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(_here, "gradebook.db")
c.CourseDirectory.course_id = "autodiff-course"

# Test cells are generated from graders/*.toml; generating a release creates the assignment in the gradebook.
c.GenerateAssignment.create_assignment = True
# Solution regions and the stub nbgrader leaves in their place (nbgrader's defaults, stated once here).
c.ClearSolutions.begin_solution_delimeter = "BEGIN SOLUTION"
c.ClearSolutions.end_solution_delimeter = "END SOLUTION"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearHiddenTests.begin_test_delimeter = "BEGIN HIDDEN TESTS"
c.ClearHiddenTests.end_test_delimeter = "END HIDDEN TESTS"
