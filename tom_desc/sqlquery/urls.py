"""The original's four /db/ URLs, each also without its trailing slash: a POST to a URL
without it would otherwise be redirected, and clients repeat a redirected POST as a GET
(some of the original's helpers post to db/runsqlquery)."""

from django.urls import path, re_path

from sqlquery import views

app_name = "sqlquery"

ROUTES = [
    ("runsqlquery/", views.RunSqlQuery, "runsqlquery"),
    ("submitsqlquery/", views.SubmitSqlQuery, "submitsqlquery"),
    ("checksqlquery/<str:queryid>/", views.CheckSqlQuery, "checksqlquery"),
    ("getsqlqueryresults/<str:queryid>/", views.GetSqlQueryResults, "getsqlqueryresults"),
]

urlpatterns = [path(route, view.as_view(), name=name) for route, view, name in ROUTES] + [
    re_path(r"^runsqlquery$", views.RunSqlQuery.as_view()),
    re_path(r"^submitsqlquery$", views.SubmitSqlQuery.as_view()),
    re_path(r"^checksqlquery/(?P<queryid>[^/]+)$", views.CheckSqlQuery.as_view()),
    re_path(r"^getsqlqueryresults/(?P<queryid>[^/]+)$", views.GetSqlQueryResults.as_view()),
]
