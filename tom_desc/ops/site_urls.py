"""This app's route at the site's root, in place of the TOM Toolkit's: /users/, for administrators
only (views.UserListForAdmins). Not namespaced: the toolkit's templates reverse "user-list"."""

from django.urls import path

from ops.views import UserListForAdmins

urlpatterns = [path("users/", UserListForAdmins.as_view(), name="user-list")]
