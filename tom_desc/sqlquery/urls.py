from django.urls import path

from sqlquery import views

app_name = "sqlquery"

urlpatterns = [
    path("runsqlquery/", views.RunSqlQuery.as_view(), name="runsqlquery"),
    path("submitsqlquery/", views.SubmitSqlQuery.as_view(), name="submitsqlquery"),
    path("checksqlquery/<str:queryid>/", views.CheckSqlQuery.as_view(), name="checksqlquery"),
    path("getsqlqueryresults/<str:queryid>/", views.GetSqlQueryResults.as_view(), name="getsqlqueryresults"),
]
