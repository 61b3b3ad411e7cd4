<%@ WebHandler Language="C#" Class="X" %>
